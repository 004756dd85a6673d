// Drives chatd's /v1 endpoint with the official OpenAI client library and prints one JSON
// object with what it saw, for tests/integration/test_openai_api.py to check.
//   CHATD_V1_URL=http://127.0.0.1:PORT/v1 CHATD_V1_KEY=ck_... node openai_client.mjs MODEL
import OpenAI from "openai";

import { failure } from "./failure.mjs";

const client = new OpenAI({ baseURL: process.env.CHATD_V1_URL, apiKey: process.env.CHATD_V1_KEY, maxRetries: 0 });
const model = process.argv[2];
const out = {};


const models = await client.models.list();
out.models = models.data.map((m) => m.id);

const completion = await client.chat.completions.create({
  model,
  messages: [{ role: "system", content: "be brief" }, { role: "user", content: "hello from node" }],
  max_tokens: 50,
  temperature: 0.5,
});
out.completion = { object: completion.object, content: completion.choices[0].message.content,
                   finish_reason: completion.choices[0].finish_reason, usage: completion.usage, model: completion.model };

const stream = await client.chat.completions.create({
  model,
  messages: [{ role: "user", content: "stream this please" }],
  stream: true,
  stream_options: { include_usage: true },
});
const deltas = [];
let usage = null;
let finish = null;
for await (const chunk of stream) {
  if (chunk.usage) usage = chunk.usage;
  for (const choice of chunk.choices) {
    if (choice.delta?.content) deltas.push(choice.delta.content);
    if (choice.finish_reason) finish = choice.finish_reason;
  }
}
out.stream = { deltas, usage, finish_reason: finish };

out.unknown_model = await failure(() =>
  client.chat.completions.create({ model: "no-such-model", messages: [{ role: "user", content: "x" }] }));
out.upstream_failure = await failure(() =>
  client.chat.completions.create({ model, messages: [{ role: "user", content: "#fail400 now" }] }));
out.stream_failure = await failure(async () => {
  const s = await client.chat.completions.create({ model, messages: [{ role: "user", content: "#midfail go" }],
                                                  stream: true });
  for await (const _ of s) { /* read until the error */ }
});
const badKey = new OpenAI({ baseURL: process.env.CHATD_V1_URL, apiKey: "ck_wrong", maxRetries: 0 });
out.bad_key = await failure(() => badKey.models.list());

console.log(JSON.stringify(out));
