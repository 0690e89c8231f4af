import { aiAssistant } from './ai-assistant';
import { codeEngineer } from './code-engineer';
import { planManager } from './plan-manager';
import { planner } from './planner';
import { agentRole, assignableRoleNames, isAssignableRole } from './registry';
import { summarizer } from './summarizer';

describe('role registry', () => {
  it('lists the assignable roles by their wire names', () => {
    expect(assignableRoleNames()).toEqual([
      'Summarizer',
      'AI Assistant',
      'CodeEngineer',
      'DataScientist',
      'ToolExpert',
    ]);
    expect(agentRole('CodeEngineer')).toBe(codeEngineer);
  });

  it('refuses the internal roles and unknown or differently cased names', () => {
    for (const name of [planner.name, planManager.name, 'summarizer', 'datascientist', 'NoSuchRole', '']) {
      expect(isAssignableRole(name)).toBe(false);
      expect(agentRole(name)).toBeUndefined();
    }
  });

  it('gives every role a one-line description and every agent role a prompt with goal and constraints', () => {
    for (const role of [summarizer, aiAssistant, codeEngineer, planner, planManager]) {
      expect(role.description).toMatch(/^[^\n]+$/);
    }
    for (const role of [summarizer, aiAssistant, codeEngineer, planner]) {
      expect(role.systemPrompt).toMatch(/goal/i);
      expect(role.systemPrompt).toMatch(/Constraints:/);
    }
  });
});

describe('role actions', () => {
  it.each([summarizer, aiAssistant])('$name accepts any non-blank answer as is and fails an empty one', (role) => {
    expect(role.act('  An answer.\n')).toEqual({ ok: true, value: '  An answer.\n' });
    expect(role.act(' \n\t')).toEqual({ ok: false, reason: 'the answer is empty' });
  });

  it('CodeEngineer wants code in a fenced block', () => {
    const reply = 'Here:\n```python\nprint(1)\n```\nIt should print 1.';
    expect(codeEngineer.act(reply)).toEqual({ ok: true, value: reply });
    expect(codeEngineer.act('print(1)')).toEqual({
      ok: false,
      reason: 'the answer has no fenced code block (```language ... ```)',
    });
    expect(codeEngineer.act('```python\n   \n```').ok).toBe(false);
    expect(codeEngineer.act('').ok).toBe(false);
  });

  it('CodeEngineer never claims to have executed the code', () => {
    const code = '```js\nconsole.log(1)\n```';
    for (const claim of ['I ran it and got 1.', "I've executed the script.", 'I have tested this code.']) {
      expect(codeEngineer.act(`${code}\n${claim}`)).toEqual({
        ok: false,
        reason: 'the answer claims the code was run; the code cannot be executed here, only written',
      });
    }
    expect(codeEngineer.act(`${code}\nYou can run it with node; it should print 1.`).ok).toBe(true);
  });
});

describe('Planner prompt', () => {
  it('lists the team agents with their descriptions and resources', () => {
    const section = planner.teamSection([
      {
        name: 'Summarizer',
        description: summarizer.description,
        resources: [{ type: 'knowledge', name: 'docs', value: 'awel' }],
      },
      { name: 'CodeEngineer', description: codeEngineer.description, resources: [] },
    ]);
    expect(section).toBe(
      [
        "The team's agents (with the resources each can use):",
        `- Summarizer: ${summarizer.description}`,
        '  - knowledge "docs": awel',
        `- CodeEngineer: ${codeEngineer.description}`,
      ].join('\n'),
    );
    expect(planner.systemPrompt).toContain('"serial_number"');
  });
});
