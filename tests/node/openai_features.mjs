// Drives chatd's /v1 endpoint with the official OpenAI client library through tools, images,
// structured output and refused parameters, and prints one JSON object with what it saw for
// tests/integration/test_openai_features.py to check.
//   CHATD_V1_URL=http://127.0.0.1:PORT/v1 CHATD_V1_KEY=ck_... node openai_features.mjs MODEL IMAGE_DATA_URL JSON_PROMPT
import OpenAI from "openai";

import { failure } from "./failure.mjs";

const client = new OpenAI({ baseURL: process.env.CHATD_V1_URL, apiKey: process.env.CHATD_V1_KEY, maxRetries: 0 });
const model = process.argv[2];
const imageUrl = process.argv[3];
const jsonPrompt = process.argv[4];  // the user message of the structured-output question
const out = {};


const tools = [
  { type: "function", function: { name: "get_weather", description: "The weather in a city",
                                   parameters: { type: "object", properties: { city: { type: "string" } },
                                                 required: ["city"] } } },
  { type: "function", function: { name: "get_time", description: "The time in a city",
                                  parameters: { type: "object", properties: { city: { type: "string" } } } } },
];

// Reads a stream the way an agent does: text pieces, and tool calls put together from their
// pieces (the first piece of a call has its id and name; the others add arguments).
async function collect(stream) {
  const seen = { text: "", calls: [], pieces: 0, first_pieces: [], finish_reason: null, usage: null };
  for await (const chunk of stream) {
    if (chunk.usage) seen.usage = chunk.usage;
    for (const choice of chunk.choices) {
      if (choice.delta?.content) seen.text += choice.delta.content;
      for (const piece of choice.delta?.tool_calls ?? []) {
        seen.pieces += 1;
        if (!seen.calls[piece.index]) {
          seen.calls[piece.index] = { id: piece.id, type: piece.type, name: piece.function?.name, arguments: "" };
          seen.first_pieces.push({ index: piece.index, id: piece.id ?? null, name: piece.function?.name ?? null });
        }
        seen.calls[piece.index].arguments += piece.function?.arguments ?? "";
      }
      if (choice.finish_reason) seen.finish_reason = choice.finish_reason;
    }
  }
  return seen;
}

function answerTools(calls) {
  return calls.map((c) => ({ role: "tool", tool_call_id: c.id, content: `${c.function?.name ?? c.name} done` }));
}

// A two-round tool loop, not streamed: the model asks, the client answers, the model replies.
{
  const messages = [{ role: "user", content: '#tool=get_weather {"city": "Paris"} what is the weather?' }];
  const first = await client.chat.completions.create({ model, messages, tools });
  const message = first.choices[0].message;
  messages.push(message, ...answerTools(message.tool_calls ?? []));
  const second = await client.chat.completions.create({ model, messages, tools });
  out.loop = {
    first: { content: message.content, tool_calls: message.tool_calls, finish_reason: first.choices[0].finish_reason,
             usage: first.usage },
    second: { content: second.choices[0].message.content, finish_reason: second.choices[0].finish_reason },
  };
}

// The same loop streamed, with two calls at once in the first round.
{
  const messages = [{ role: "user",
                      content: '#tool=get_weather {"city": "Oslo"} #tool=get_time {"city": "Lima, Peru"} both?' }];
  const first = await collect(await client.chat.completions.create(
    { model, messages, tools, stream: true, stream_options: { include_usage: true } }));
  messages.push({ role: "assistant", content: first.text || null,
                  tool_calls: first.calls.map((c) => ({ id: c.id, type: "function",
                                                        function: { name: c.name, arguments: c.arguments } })) });
  messages.push(...answerTools(first.calls));
  const second = await collect(await client.chat.completions.create({ model, messages, tools, stream: true }));
  out.stream_loop = { first, second };
}

// tool_choice and parallel_tool_calls.
{
  const ask = (extra) => client.chat.completions.create({
    model, tools, messages: [{ role: "user", content: '#tool=get_weather {"city": "Rome"} #tool=get_time {} go' }],
    ...extra });
  const names = (c) => (c.choices[0].message.tool_calls ?? []).map((t) => t.function.name);
  out.choices = {
    none: (await client.chat.completions.create({
      model, tools, tool_choice: "none", messages: [{ role: "user", content: "no tools now" }] })).choices[0].message.content,
    named: names(await ask({ tool_choice: { type: "function", function: { name: "get_time" } } })),
    single: await failure(async () => { out.single_names = names(await ask({ parallel_tool_calls: false })); }),
  };
}

// An image question.
{
  const answer = await client.chat.completions.create({ model, messages: [{ role: "user", content: [
    { type: "text", text: "#image what is in this picture?" },
    { type: "image_url", image_url: { url: imageUrl, detail: "low" } },
  ] }] });
  out.image = { content: answer.choices[0].message.content, usage: answer.usage };
}

// Structured output with a JSON schema.
{
  const answer = await client.chat.completions.create({
    model,
    messages: [{ role: "user", content: jsonPrompt }],
    response_format: { type: "json_schema", json_schema: { name: "city_report", strict: true, schema: {
      type: "object", properties: { city: { type: "string" }, sunny: { type: "boolean" } }, additionalProperties: false,
      required: ["city", "sunny"] } } },
  });
  out.json_schema = { content: answer.choices[0].message.content, finish_reason: answer.choices[0].finish_reason,
                      tool_calls: answer.choices[0].message.tool_calls ?? null };
}

// Parameters each provider takes or refuses.
out.params = {};
for (const [name, value] of [["seed", 7], ["presence_penalty", 0.5], ["frequency_penalty", 0.5],
                             ["logit_bias", { "50256": -100 }], ["user", "user-42"], ["reasoning_effort", "low"]]) {
  out.params[name] = await failure(() => client.chat.completions.create(
    { model, messages: [{ role: "user", content: `param ${name}` }], [name]: value }));
}
out.bad = {
  unknown_tool_choice: await failure(() => client.chat.completions.create(
    { model, tools, messages: [{ role: "user", content: "x" }],
      tool_choice: { type: "function", function: { name: "nope" } } })),
  unanswered_call: await failure(() => client.chat.completions.create({ model, tools, messages: [
    { role: "user", content: "x" },
    { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function",
                                                       function: { name: "get_time", arguments: "{}" } }] },
    { role: "user", content: "and?" }] })),
  http_image: await failure(() => client.chat.completions.create({ model, messages: [{ role: "user", content: [
    { type: "image_url", image_url: { url: "http://example.com/a.png" } }] }] })),
  logprobs: await failure(() => client.chat.completions.create(
    { model, logprobs: true, messages: [{ role: "user", content: "x" }] })),
};

console.log(JSON.stringify(out));
