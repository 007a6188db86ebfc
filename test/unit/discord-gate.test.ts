import { describe, expect, it } from 'vitest';
import { gateButtons, gateDecision, gateKey, gateText } from '../../src/channels/discord/gate.js';

const RUN = '0f8fad5b-d9cb-469f-a165-70867728950e';

describe('Discord workflow gates (pure)', () => {
  it('an approval gate gets Approve and Reject buttons whose ids decide that run\'s step; an input gate none', () => {
    const buttons = gateButtons(gateKey('approval', RUN, 'review')) as Array<{ components: Array<{ custom_id: string }> }>;
    const ids = buttons[0]!.components.map((b) => b.custom_id);
    expect(ids.map(gateDecision)).toEqual([
      { kind: 'approve', runId: RUN, stepId: 'review' },
      { kind: 'reject', runId: RUN, stepId: 'review' },
    ]);
    expect(gateButtons(gateKey('input', RUN, 'review'))).toBeUndefined();
    expect(gateButtons('reply:task-1')).toBeUndefined();
    expect(gateDecision('tetora:cancel:task-1')).toBeUndefined();
  });

  it('no buttons when a custom id would pass Discord\'s 100 characters; the text says how to decide without them', () => {
    expect(gateButtons(gateKey('approval', RUN, 'x'.repeat(60)))).toBeUndefined();
    expect(gateText({ workflow: 'w', runId: RUN, stepId: 's', subtype: 'approval', prompt: 'go?' })).toContain(`tetora workflow approve|reject ${RUN} s`);
    expect(gateText({ workflow: 'w', runId: RUN, stepId: 's', subtype: 'input', prompt: '' })).toContain(`tetora workflow answer ${RUN} s`);
  });
});
