#!/usr/bin/env node
// A fake agent for smart-dispatch tests. Run as a `command` provider (prompt on stdin, answer on stdout),
// or as a `claude-code` provider's executable (it then speaks claude's stream-json and reports a cost).
// Classifier tasks (their prompt starts "You are the dispatcher") answer from directives found in the
// request they classify; other tasks answer "ran <first line of the prompt>".
//   @@route=AGENT:CONFIDENCE@@   the first classifier answers {"agent": AGENT, "confidence": CONFIDENCE, "reason": "fake"}
//   @@route2=AGENT:CONFIDENCE@@  the escalated classifier's answer (its prompt says the first was not confident)
//   @@routeRaw=TEXT@@            the first classifier answers TEXT as it is (bad JSON); @@route2Raw=TEXT@@ the escalated one
//   @@routeSleep=MS@@            classifiers wait MS before answering (to run past classifyTimeout)
//   @@routeCost=USD@@            in claude mode: the run reports this total cost
// Every run appends {taskId, classifier, stage, model} to ROUTE_LOG (JSON lines) when it is set.
import { appendFileSync, readFileSync } from 'node:fs';

const claude = process.argv.includes('--output-format');
const prompt = readFileSync(0, 'utf8');
const dirs = {};
for (const m of prompt.matchAll(/@@([a-zA-Z0-9]+)(?:=([^@]*))?@@/g)) dirs[m[1]] = m[2] ?? true;
const classifier = prompt.includes('You are the dispatcher of a team of AI agents');
const escalated = classifier && prompt.includes('was not confident');
const taskId = process.env.TETORA_TASK_ID ?? 'none';
const session = process.env.TETORA_SESSION_ID ?? (process.argv.includes("--resume") ? process.argv[process.argv.indexOf("--resume") + 1] : null);
const model = process.env.TETORA_MODEL ?? (process.argv.includes('--model') ? process.argv[process.argv.indexOf('--model') + 1] : null);
if (process.env.ROUTE_LOG) appendFileSync(process.env.ROUTE_LOG, `${JSON.stringify({ taskId, classifier, stage: escalated ? 2 : classifier ? 1 : 0, model, session })}\n`);

let answer;
if (classifier) {
  const raw = escalated ? dirs.route2Raw : dirs.routeRaw;
  const pick = escalated ? (dirs.route2 ?? dirs.route) : dirs.route;
  if (raw !== undefined) answer = raw;
  else if (typeof pick === 'string') {
    const [agent, confidence] = pick.split(':');
    answer = `Sure. ${JSON.stringify({ agent, confidence, reason: `fake classifier chose ${agent}` })} Hope that helps.`;
  } else answer = 'I cannot decide.';
} else answer = `ran ${prompt.split('\n')[0].replace(/@@[^@]*@@/g, '').trim()}`;

setTimeout(() => {
  if (claude) {
    const sid = `fake-${taskId}`;
    const line = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
    line({ type: 'system', subtype: 'init', session_id: sid });
    line({ type: 'assistant', session_id: sid, message: { id: `m-${taskId}`, role: 'assistant', content: [{ type: 'text', text: answer }] } });
    line({ type: 'result', subtype: 'success', is_error: false, result: answer, session_id: sid, total_cost_usd: Number(dirs.routeCost ?? 0), num_turns: 1, usage: { input_tokens: 10, output_tokens: 5 } });
  } else process.stdout.write(answer);
  process.exit(0);
}, classifier ? Number(dirs.routeSleep ?? 0) : 0);
