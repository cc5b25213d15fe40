// The Vercel AI SDK against a running Candor: generateText and streamText, through the Responses API
// (openai(...), the SDK's default) and chat completions (openai.chat(...)). Each checks that the notice and
// the label reach the user's text and that `compliance` is readable from what the SDK exposes.
// Run by tests/test_clients_node.py with CANDOR_URL and CANDOR_KEY set (a running proxy, stubbed provider).
import assert from "node:assert/strict";
import { test } from "node:test";

import { createOpenAI } from "@ai-sdk/openai";
import { generateText, streamText } from "ai";

const URL = process.env.CANDOR_URL;
const KEY = process.env.CANDOR_KEY;
const LABEL = "本回复由人工智能生成";
const DISCLOSURE = "你正在与人工智能交流";
const REPLY = process.env.CANDOR_STUB_TEXT ?? "Hello from the stub.";

function provider(user) {
  return createOpenAI({ baseURL: `${URL}/v1`, apiKey: KEY, headers: { "X-Candor-User": user } });
}

function checkText(text) {
  assert.ok(text.includes(REPLY), `the model's reply is delivered: ${text}`);
  assert.ok(text.includes(LABEL), `the explicit label is delivered: ${text}`);
  assert.ok(text.includes(DISCLOSURE), `the first-turn disclosure is delivered: ${text}`);
}

function checkCompliance(compliance) {
  assert.ok(compliance, "compliance is present");
  assert.equal(compliance.policy.id, "cn-anthropomorphic-2026");
  assert.equal(compliance.label.explicit, LABEL);
  // real time: between 01:00 and 05:00 Beijing time the CN pack's late-night signal adds a dependence reminder
  assert.deepEqual(compliance.notices.map((n) => n.kind).filter((k) => k !== "dependence_reminder"), ["ai_disclosure"]);
}

test("generateText with openai(...) (Responses API)", async () => {
  const result = await generateText({ model: provider("vercel-gen-resp")("companion"), prompt: "你好", maxRetries: 0 });
  checkText(result.text);
  checkCompliance(result.response.body.compliance);
  assert.ok(result.response.headers["x-candor-event-id"]);
});

test("generateText with openai.chat(...) (chat completions)", async () => {
  const result = await generateText({ model: provider("vercel-gen-chat").chat("companion"), prompt: "你好", maxRetries: 0 });
  checkText(result.text);
  checkCompliance(result.response.body.compliance);
});

async function streamed(model) {
  const result = streamText({ model, prompt: "你好", maxRetries: 0, includeRawChunks: true });
  let text = "";
  const raw = [];
  for await (const part of result.fullStream) {
    if (part.type === "text-delta") text += part.text;
    else if (part.type === "raw") raw.push(part.rawValue);
    else if (part.type === "error") throw part.error;
  }
  return { text, raw, response: await result.response };
}

test("streamText with openai(...) (Responses API)", async () => {
  const { text, raw, response } = await streamed(provider("vercel-stream-resp")("companion"));
  checkText(text);
  const created = raw.find((c) => c.type === "response.created");
  const completed = raw.find((c) => c.type === "response.completed");
  checkCompliance(created.response.compliance);
  assert.equal(completed.response.compliance.event_id, created.response.compliance.event_id);
  assert.ok(response.headers["x-candor-event-id"]);
});

test("streamText with openai.chat(...) (chat completions)", async () => {
  const { text, raw } = await streamed(provider("vercel-stream-chat").chat("companion"));
  checkText(text);
  checkCompliance(raw.find((c) => c.compliance).compliance);
});
