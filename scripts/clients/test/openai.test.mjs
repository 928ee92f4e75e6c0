// The openai SDK against the router on its built-in demo configuration.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { zodResponseFormat } from 'openai/helpers/zod';
import { z } from 'zod';

const client = new OpenAI({ baseURL: `${process.env.ROUTER_URL}/v1`, apiKey: 'unused-locally', maxRetries: 0 });
const user = [{ role: 'user', content: 'Weather in Paris?' }];
const weather = {
  type: 'object',
  properties: { city: { type: 'string' } },
  required: ['city'],
  additionalProperties: false,
};
// The simulated provider's answers say what they are.
const simulated = /simulated answer/;

test('chat', async () => {
  const r = await client.chat.completions.create({ model: 'demo', messages: user });
  assert.equal(r.object, 'chat.completion');
  assert.match(r.choices[0].message.content, simulated);
  assert.ok(r.usage.total_tokens > 0);
});

test('chat streamed, with usage', async () => {
  const stream = await client.chat.completions.create({
    model: 'demo', messages: user, stream: true, stream_options: { include_usage: true },
  });
  let text = '';
  let usage;
  for await (const chunk of stream) {
    text += chunk.choices[0]?.delta?.content ?? '';
    usage = chunk.usage ?? usage;
  }
  assert.match(text, simulated);
  assert.ok(usage.total_tokens > 0);
});

test('chat tool round trip', async () => {
  const tools = [{ type: 'function', function: { name: 'get_weather', parameters: weather } }];
  const first = await client.chat.completions.create({ model: 'demo', messages: user, tools });
  const call = first.choices[0].message.tool_calls?.[0];
  assert.equal(first.choices[0].finish_reason, 'tool_calls');
  assert.equal(call.function.name, 'get_weather');
  const second = await client.chat.completions.create({
    model: 'demo', tools,
    messages: [...user, first.choices[0].message, { role: 'tool', tool_call_id: call.id, content: '{"temp_c":21}' }],
  });
  assert.match(second.choices[0].message.content, simulated);
});

test('structured output with a zod schema', async () => {
  const Contact = z.object({ name: z.string(), email: z.string() });
  const r = await client.chat.completions.parse({
    model: 'demo', messages: [{ role: 'user', content: 'Ann, ann@example.com' }],
    response_format: zodResponseFormat(Contact, 'contact'),
  });
  const parsed = r.choices[0].message.parsed;
  assert.equal(typeof parsed.name, 'string');
  assert.equal(typeof parsed.email, 'string');
});

test('embeddings in the default encoding are the real vectors', async () => {
  const input = ['first', 'second'];
  // The SDK asks for base64 unless told otherwise and decodes it; floats
  // asked for explicitly come back as they are.
  const floats = await client.embeddings.create({ model: 'demo', input, encoding_format: 'float' });
  const byDefault = await client.embeddings.create({ model: 'demo', input });
  assert.equal(byDefault.data.length, 2);
  for (const [i, d] of byDefault.data.entries()) {
    const want = floats.data[i].embedding;
    assert.equal(d.embedding.length, want.length);
    assert.ok(want.some((x) => x !== 0), 'the float vector is all zeros');
    assert.deepEqual(Array.from(d.embedding), want.map(Math.fround));
  }
});

test('models.retrieve', async () => {
  const m = await client.models.retrieve('demo');
  assert.equal(m.id, 'demo');
  assert.equal(m.object, 'model');
  const ids = [];
  for await (const model of client.models.list()) ids.push(model.id);
  assert.ok(ids.includes('demo'), `models.list: ${ids}`);
});

test('responses', async () => {
  const r = await client.responses.create({ model: 'demo', input: 'Hello!' });
  assert.equal(r.status, 'completed');
  assert.match(r.output_text, simulated);
  assert.match(r.id, /^resp_/);
});

test('responses streamed', async () => {
  const stream = await client.responses.create({ model: 'demo', input: 'Hello!', stream: true });
  let text = '';
  let completed;
  for await (const ev of stream) {
    if (ev.type === 'response.output_text.delta') text += ev.delta;
    if (ev.type === 'response.completed') completed = ev.response;
  }
  assert.match(text, simulated);
  assert.equal(completed.status, 'completed');
  assert.ok(completed.usage.total_tokens > 0);
});

test('responses tool round trip', async () => {
  const tools = [{ type: 'function', name: 'get_weather', parameters: weather, strict: true }];
  const input = [{ role: 'user', content: 'Weather in Paris?' }];
  const first = await client.responses.create({ model: 'demo', input, tools });
  const call = first.output.find((item) => item.type === 'function_call');
  assert.equal(call?.name, 'get_weather');
  const second = await client.responses.create({
    model: 'demo', tools,
    input: [...input, call, { type: 'function_call_output', call_id: call.call_id, output: '{"temp_c":21}' }],
  });
  assert.match(second.output_text, simulated);
});
