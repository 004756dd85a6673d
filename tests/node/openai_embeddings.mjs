// Embeddings through the official OpenAI client library (which asks for base64 vectors by
// default and decodes them), printed as JSON for tests/integration/test_openai_embeddings.py.
//   CHATD_V1_URL=... CHATD_V1_KEY=... node openai_embeddings.mjs MODEL TEXT...
import OpenAI from "openai";

const client = new OpenAI({ baseURL: process.env.CHATD_V1_URL, apiKey: process.env.CHATD_V1_KEY, maxRetries: 0 });
const [model, ...texts] = process.argv.slice(2);
const answer = await client.embeddings.create({ model, input: texts });
const floats = await client.embeddings.create({ model, input: texts[0], encoding_format: "float" });
console.log(JSON.stringify({
  vectors: answer.data.map((d) => Array.from(d.embedding)),
  indexes: answer.data.map((d) => d.index),
  usage: answer.usage,
  model: answer.model,
  float_vector: floats.data[0].embedding,
}));
