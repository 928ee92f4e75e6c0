// Writes claude_counts.tsv: the Claude token count of every corpus sample
// (each paragraph and each whole file, split as corpus_test.go splits them),
// from ai-tokenizer's reconstruction of Claude's tokenizer. Anthropic does not
// publish the tokenizer; ai-tokenizer's authors report 97-99% agreement with
// Anthropic's count_tokens for Claude 3 to 4.5 models.
//
//   cp claude_counts.mjs "$(mktemp -d)" && cd "$_" && npm install ai-tokenizer@1.0.6
//   node claude_counts.mjs /path/to/shared/tokens/testdata/corpus > /path/to/claude_counts.tsv
import { Tokenizer } from "ai-tokenizer";
import * as claude from "ai-tokenizer/encoding/claude";
import fs from "fs";
import path from "path";

const dir = process.argv[2];
const tk = new Tokenizer(claude);
const row = (name, text) => console.log(`${name}\t${[...text].length}\t${tk.count(text)}`);
console.log("# sample\trunes\tclaude tokens (ai-tokenizer 1.0.6)");
for (const f of fs.readdirSync(dir).filter((f) => f.endsWith(".txt")).sort()) {
  const b = fs.readFileSync(path.join(dir, f), "utf8");
  b.split("\n\n").forEach((p, i) => {
    p = p.trim();
    if (p) row(`${f}#${i}`, p);
  });
  row(f, b.trim());
}
