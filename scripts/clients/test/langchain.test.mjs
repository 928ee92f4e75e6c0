// LangChain's ChatOpenAI (Chat Completions and the Responses API) and
// OpenAIEmbeddings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { ChatOpenAI, OpenAIEmbeddings } from '@langchain/openai';

const baseURL = `${process.env.ROUTER_URL}/v1`;
const simulated = /simulated answer/;

test('ChatOpenAI', async () => {
  const chat = new ChatOpenAI({ model: 'demo', apiKey: 'unused-locally', maxRetries: 0, configuration: { baseURL } });
  const reply = await chat.invoke('Hello!');
  assert.match(reply.text, simulated);
  assert.ok(reply.usage_metadata.total_tokens > 0);
});

test('ChatOpenAI streamed', async () => {
  const chat = new ChatOpenAI({ model: 'demo', apiKey: 'unused-locally', maxRetries: 0, configuration: { baseURL } });
  let text = '';
  for await (const chunk of await chat.stream('Hello!')) text += chunk.text;
  assert.match(text, simulated);
});

test('ChatOpenAI with useResponsesApi', async () => {
  const chat = new ChatOpenAI({
    model: 'demo', apiKey: 'unused-locally', maxRetries: 0, useResponsesApi: true, configuration: { baseURL },
  });
  const reply = await chat.invoke('Hello!');
  assert.match(reply.text, simulated);
  assert.match(reply.id ?? reply.response_metadata?.id ?? '', /^(resp_|msg_)/);
});

test('OpenAIEmbeddings', async () => {
  const embeddings = new OpenAIEmbeddings({ model: 'demo', apiKey: 'unused-locally', maxRetries: 0, configuration: { baseURL } });
  const [got] = await embeddings.embedDocuments(['first']);
  const floats = await new OpenAI({ baseURL, apiKey: 'unused-locally' })
    .embeddings.create({ model: 'demo', input: 'first', encoding_format: 'float' });
  const want = floats.data[0].embedding;
  assert.ok(want.some((x) => x !== 0), 'the float vector is all zeros');
  assert.deepEqual(Array.from(got).map(Math.fround), want.map(Math.fround));
});
