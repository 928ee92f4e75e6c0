// The Anthropic SDK on the router's Messages API.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';

const client = new Anthropic({ baseURL: process.env.ROUTER_URL, apiKey: 'unused-locally', maxRetries: 0 });
const messages = [{ role: 'user', content: 'Weather in Paris?' }];
const simulated = /simulated answer/;

test('messages', async () => {
  const msg = await client.messages.create({ model: 'demo', max_tokens: 256, messages });
  assert.equal(msg.type, 'message');
  assert.equal(msg.stop_reason, 'end_turn');
  assert.match(msg.content[0].text, simulated);
  assert.ok(msg.usage.output_tokens > 0);
});

test('messages streamed', async () => {
  const stream = client.messages.stream({ model: 'demo', max_tokens: 256, messages });
  let text = '';
  stream.on('text', (delta) => { text += delta; });
  const msg = await stream.finalMessage();
  assert.match(text, simulated);
  assert.equal(msg.content[0].text, text);
  assert.equal(msg.stop_reason, 'end_turn');
});

test('messages tool round trip', async () => {
  const tools = [{
    name: 'get_weather',
    input_schema: { type: 'object', properties: { city: { type: 'string' } } },
  }];
  const first = await client.messages.create({ model: 'demo', max_tokens: 256, messages, tools });
  assert.equal(first.stop_reason, 'tool_use');
  const use = first.content.find((b) => b.type === 'tool_use');
  assert.equal(use.name, 'get_weather');
  const second = await client.messages.create({
    model: 'demo', max_tokens: 256, tools,
    messages: [...messages, { role: 'assistant', content: first.content },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: '{"temp_c":21}' }] }],
  });
  assert.equal(second.stop_reason, 'end_turn');
  assert.match(second.content[0].text, simulated);
});

test('count_tokens', async () => {
  const { input_tokens } = await client.messages.countTokens({ model: 'demo', messages });
  assert.ok(input_tokens > 0);
});
