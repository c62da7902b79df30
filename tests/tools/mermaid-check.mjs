#!/usr/bin/env node
// Parse every ```mermaid block of Markdown with mermaid's own parser (headless, under jsdom).
//
//   node tests/tools/mermaid-check.mjs [file.md ...]   (no files: read stdin)
//
// Prints one line per diagram: "ok <source>:<line> <type>" or "FAIL <source>:<line> <type>: <error>",
// then "diagrams: <count>, failed: <count>". Exit status: 0 all parsed, 1 a diagram failed to
// parse (or, for a gantt, has a task time that does not resolve), 2 usage/input error. A file without diagrams is not an error (the count says 0).
import { readFileSync } from "node:fs";
import { JSDOM } from "jsdom";

// mermaid touches window/document/DOMPurify at import time: give it a DOM first.
const dom = new JSDOM("<!doctype html><html><body></body></html>", { pretendToBeVisual: true });
for (const key of ["window", "document", "navigator", "Element", "HTMLElement", "SVGElement",
                   "DOMParser", "Node", "XMLSerializer", "getComputedStyle"]) {
  if (globalThis[key] === undefined && dom.window[key] !== undefined) {
    try {
      globalThis[key] = key === "window" ? dom.window : dom.window[key];
    } catch {
      Object.defineProperty(globalThis, key, { value: dom.window[key], configurable: true });
    }
  }
}
const { default: mermaid } = await import("mermaid");
mermaid.initialize({ startOnLoad: false });

/** The bodies of fenced ```mermaid blocks (backtick or tilde fences, any length >= 3). */
export function extractMermaid(markdown) {
  const blocks = [];
  const lines = markdown.split(/\r?\n/);
  let fence = null;
  let body = [];
  let startLine = 0;
  lines.forEach((line, i) => {
    if (fence === null) {
      const open = /^ {0,3}(`{3,}|~{3,})\s*mermaid\s*$/.exec(line);
      if (open) {
        fence = open[1];
        body = [];
        startLine = i + 1;
      }
      return;
    }
    const close = new RegExp(`^ {0,3}${fence[0] === "`" ? "`" : "~"}{${fence.length},}\\s*$`);
    if (close.test(line)) {
      blocks.push({ text: body.join("\n"), line: startLine });
      fence = null;
    } else {
      body.push(line);
    }
  });
  if (fence !== null) {
    blocks.push({ text: body.join("\n"), line: startLine, unterminated: true });
  }
  return blocks;
}

function diagramType(text) {
  const first = text.split("\n").map((l) => l.trim()).find((l) => l && !l.startsWith("%%"));
  return first ? first.split(/\s+/)[0] : "(empty)";
}

/**
 * mermaid.parse() accepts any gantt task data ("t :x, y"); dates are only resolved when the
 * chart is drawn. Resolve them here, as the renderer would, and reject invalid or reversed
 * times — a gantt that parses but cannot be drawn is a failure too.
 */
async function checkGanttTimes(text) {
  const diagram = await mermaid.mermaidAPI.getDiagramFromText(text);
  for (const task of diagram.db.getTasks()) {
    const start = task.startTime, end = task.endTime;
    const valid = (d) => d instanceof Date && !Number.isNaN(d.getTime());
    if (!valid(start) || !valid(end)) throw new Error(`gantt task "${task.task}": invalid time`);
    if (end < start) throw new Error(`gantt task "${task.task}": ends before it starts`);
  }
}

async function main(argv) {
  const inputs = [];
  try {
    if (argv.length === 0) {
      inputs.push({ name: "<stdin>", text: readFileSync(0, "utf8") });
    } else {
      for (const file of argv) inputs.push({ name: file, text: readFileSync(file, "utf8") });
    }
  } catch (err) {
    console.error(`mermaid-check: ${err.message}`);
    return 2;
  }
  let total = 0;
  let failed = 0;
  for (const { name, text } of inputs) {
    for (const block of extractMermaid(text)) {
      total += 1;
      const where = `${name}:${block.line}`;
      const type = diagramType(block.text);
      if (block.unterminated) {
        failed += 1;
        console.log(`FAIL ${where} ${type}: unterminated code fence`);
        continue;
      }
      try {
        // suppressErrors: false -> a syntax error throws; an unknown diagram type throws too.
        const result = await mermaid.parse(block.text, { suppressErrors: false });
        if (result.diagramType === "gantt") await checkGanttTimes(block.text);
        console.log(`ok ${where} ${result.diagramType}`);
      } catch (err) {
        failed += 1;
        const message = String(err?.message ?? err).split("\n").join(" | ");
        console.log(`FAIL ${where} ${type}: ${message}`);
      }
    }
  }
  console.log(`diagrams: ${total}, failed: ${failed}`);
  return failed ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
