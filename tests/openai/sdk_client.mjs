// Drives fmserve's OpenAI-compatible endpoint with the official OpenAI
// client for Node. Usage: node sdk_client.mjs BASE_URL REQUEST_JSON
// REQUEST_JSON: {"call": "completions"|"chat", "params": {...}, "token"?}.
// Prints one JSON line: {"text": [...per choice], "chunks": N, "usage",
// "finish": [...], "logprobs": [[each chunk's (or the whole choice's)
// logprobs object]...per choice]} on success, or {"error": {"status", "message", "param"}} when the SDK throws
// an APIError (the exit code stays 0: the caller checks the shape).
import OpenAI from 'openai';

const [baseURL, requestJson] = process.argv.slice(2);
const request = JSON.parse(requestJson);
const client = new OpenAI({
  baseURL,
  apiKey: request.token ?? 'none',
  maxRetries: 0,
  timeout: 60000,
});

function choiceText(choice, chat) {
  if (!chat) return choice.text ?? '';
  return choice.delta?.content ?? choice.message?.content ?? '';
}

try {
  const chat = request.call === 'chat';
  const api = chat ? client.chat.completions : client.completions;
  const texts = [];
  let usage = null;
  let chunks = 0;
  let finish = [];
  const logprobs = [];
  const keepLogprobs = (choice) => {
    if (choice.logprobs) (logprobs[choice.index] ??= []).push(choice.logprobs);
  };
  if (request.params.stream) {
    const stream = await api.create(request.params);
    for await (const chunk of stream) {
      ++chunks;
      if (chunk.usage) usage = chunk.usage;
      for (const choice of chunk.choices) {
        texts[choice.index] = (texts[choice.index] ?? '') + choiceText(choice, chat);
        if (choice.finish_reason) finish[choice.index] = choice.finish_reason;
        keepLogprobs(choice);
      }
    }
  } else {
    const out = await api.create(request.params);
    usage = out.usage;
    for (const choice of out.choices) {
      texts[choice.index] = choiceText(choice, chat);
      finish[choice.index] = choice.finish_reason;
      keepLogprobs(choice);
    }
  }
  console.log(JSON.stringify({ text: texts, chunks, usage, finish, logprobs }));
} catch (e) {
  if (e instanceof OpenAI.APIError) {
    console.log(JSON.stringify({
      error: { status: e.status ?? null, message: e.message, param: e.param ?? null },
    }));
  } else {
    console.error(e);
    process.exit(1);
  }
}
