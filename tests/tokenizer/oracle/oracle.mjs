// The tokenizer oracle for fmserve's tests: reads a JSON job, answers with
// what @lenml/tokenizers (an independent JavaScript implementation of
// Hugging Face tokenizers) makes of it.
//
//   node oracle.mjs JOB.json OUT.json
//
// JOB: {"tokenizer": "llama3" | "qwen3" | "gemma3" | "llama2",
//       "texts": [string], "decode": [[id]], "chats": [{"messages": [...],
//       "add_generation_prompt": bool}]}
// OUT: {"files": {"tokenizer_json": path, "tokenizer_config": path},
//       "encode": [[id]]          special tokens in the text stay text,
//       "encode_special": [[id]]  special tokens in the text are parsed,
//       "decode": [string]        skip_special_tokens,
//       "chats": [string]}        the chat template rendered
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(import.meta.url);
const [jobPath, outPath] = process.argv.slice(2);
const job = JSON.parse(readFileSync(jobPath, "utf8"));
const pkg = `@lenml/tokenizer-${job.tokenizer}`;
const main = require.resolve(pkg);
const models = path.join(path.dirname(main), "..", "models");
const tokenizerJsonPath = path.join(models, "tokenizer.json");
const configPath = path.join(models, "tokenizer_config.json");
const { TokenizerLoader } = require("@lenml/tokenizers");
const { Template } = require("@huggingface/jinja");

const tokenizerJSON = JSON.parse(readFileSync(tokenizerJsonPath, "utf8"));
const tokenizerConfig = JSON.parse(readFileSync(configPath, "utf8"));
const full = TokenizerLoader.fromPreTrained({ tokenizerJSON, tokenizerConfig });
// Without its special added tokens the oracle encodes text that looks
// like one as text, which is what fmserve does unless parse_special.
const plainJSON = {
  ...tokenizerJSON,
  added_tokens: tokenizerJSON.added_tokens.filter((t) => !t.special),
};
const plainConfig = { ...tokenizerConfig, added_tokens_decoder: Object.fromEntries(
  Object.entries(tokenizerConfig.added_tokens_decoder ?? {}).filter(([, t]) => !t.special)),
  additional_special_tokens: [] };
const plain = TokenizerLoader.fromPreTrained({ tokenizerJSON: plainJSON, tokenizerConfig: plainConfig });

const texts = job.texts ?? [];
const out = {
  files: { tokenizer_json: tokenizerJsonPath, tokenizer_config: configPath },
  encode: texts.map((t) => plain.encode(t, { add_special_tokens: false })),
  encode_special: texts.map((t) => full.encode(t, { add_special_tokens: false })),
  // (The library throws on an empty list, which decodes to "".)
  decode: (job.decode ?? []).map((ids) =>
    ids.length === 0 ? "" : full.decode(ids, { skip_special_tokens: true })),
  // Chat templates through @huggingface/jinja (the bundled renderer of
  // @lenml/tokenizers predates tests Gemma's template uses), with the
  // variables transformers' apply_chat_template passes.
  chats: (job.chats ?? []).map((c) => {
    const template = new Template(tokenizerConfig.chat_template);
    const special = (key) => {
      const t = tokenizerConfig[key];
      return typeof t === "string" ? t : t?.content ?? "";
    };
    return template.render({
      messages: c.messages,
      add_generation_prompt: c.add_generation_prompt,
      bos_token: special("bos_token"),
      eos_token: special("eos_token"),
      unk_token: special("unk_token"),
      pad_token: special("pad_token"),
    });
  }),
};
writeFileSync(outPath, JSON.stringify(out));
