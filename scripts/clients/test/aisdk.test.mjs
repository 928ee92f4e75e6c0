// The Vercel AI SDK's default OpenAI provider, whose openai(model) speaks the
// Responses API.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createOpenAI } from '@ai-sdk/openai';
import { generateText, streamText, tool, stepCountIs } from 'ai';
import { z } from 'zod';

const paths = [];
const openai = createOpenAI({
  baseURL: `${process.env.ROUTER_URL}/v1`,
  apiKey: 'unused-locally',
  fetch: (url, init) => {
    paths.push(new URL(url).pathname);
    return fetch(url, init);
  },
});
const simulated = /simulated answer/;

test('generateText', async () => {
  const before = paths.length;
  const { text, usage } = await generateText({ model: openai('demo'), prompt: 'Hello!', maxRetries: 0 });
  assert.match(text, simulated);
  assert.ok(usage.inputTokens > 0);
  assert.deepEqual(paths.slice(before), ['/v1/responses']);
});

test('streamText', async () => {
  const result = streamText({ model: openai('demo'), prompt: 'Hello!', maxRetries: 0 });
  let text = '';
  for await (const part of result.textStream) text += part;
  assert.match(text, simulated);
  assert.equal(await result.finishReason, 'stop');
});

test('tools over several steps', async () => {
  let called = 0;
  const { text, steps } = await generateText({
    model: openai('demo'),
    prompt: 'Weather in Paris?',
    maxRetries: 0,
    stopWhen: stepCountIs(3),
    tools: {
      get_weather: tool({
        description: 'The weather in a city',
        // The simulated provider calls tools with no arguments.
        inputSchema: z.object({ city: z.string().optional() }),
        execute: async () => {
          called++;
          return { temp_c: 21 };
        },
      }),
    },
  });
  assert.equal(called, 1);
  assert.equal(steps.length, 2);
  assert.match(text, simulated);
});
