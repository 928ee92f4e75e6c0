// The SDKs' typed errors from the router's error answers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';

const keyed = process.env.ROUTER_KEYED_URL;
const openai = (url, apiKey) => new OpenAI({ baseURL: `${url}/v1`, apiKey, maxRetries: 0 });
const anthropic = (url, apiKey) => new Anthropic({ baseURL: url, apiKey, maxRetries: 0 });
const chat = { model: 'demo', messages: [{ role: 'user', content: 'Hello!' }] };
const message = { model: 'demo', max_tokens: 64, messages: [{ role: 'user', content: 'Hello!' }] };

test('openai: 401 AuthenticationError', async () => {
  await assert.rejects(openai(keyed, 'sk-wrong').chat.completions.create(chat), OpenAI.AuthenticationError);
  await assert.rejects(openai(keyed, 'sk-wrong').responses.create({ model: 'demo', input: 'Hi' }), OpenAI.AuthenticationError);
});

test('openai: 404 NotFoundError', async () => {
  const client = openai(keyed, process.env.ROUTER_KEY);
  await assert.rejects(client.chat.completions.create({ ...chat, model: 'no-such-route' }), OpenAI.NotFoundError);
  await assert.rejects(client.models.retrieve('no-such-route'), OpenAI.NotFoundError);
});

test('openai: 429 RateLimitError', async () => {
  const client = openai(keyed, process.env.ROUTER_LIMITED_OPENAI_KEY);
  await client.chat.completions.create(chat);
  await assert.rejects(client.chat.completions.create(chat), (err) => {
    assert.ok(err instanceof OpenAI.RateLimitError, String(err));
    assert.ok(err.headers.get('retry-after'));
    return true;
  });
});

test('anthropic: 401 AuthenticationError', async () => {
  await assert.rejects(anthropic(keyed, 'sk-wrong').messages.create(message), Anthropic.AuthenticationError);
});

test('anthropic: 404 NotFoundError', async () => {
  await assert.rejects(anthropic(keyed, process.env.ROUTER_KEY).messages.create({ ...message, model: 'no-such-route' }),
    (err) => {
      assert.ok(err instanceof Anthropic.NotFoundError, String(err));
      assert.equal(err.error?.error?.type, 'not_found_error');
      return true;
    });
});

test('anthropic: 429 RateLimitError', async () => {
  const client = anthropic(keyed, process.env.ROUTER_LIMITED_ANTHROPIC_KEY);
  await client.messages.create(message);
  await assert.rejects(client.messages.create(message), (err) => {
    assert.ok(err instanceof Anthropic.RateLimitError, String(err));
    assert.equal(err.error?.error?.type, 'rate_limit_error');
    return true;
  });
});
