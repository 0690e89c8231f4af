import { basePrompt, chatMessages, describeResources, languageInstruction, systemPrompt } from './prompt';

describe('prompt building', () => {
  it('describes resources by type, name and value', () => {
    expect(describeResources([])).toBe('');
    expect(describeResources([{ type: 'database', name: 'sales', value: 'pg://x', is_dynamic: false }])).toBe(
      'Resources you can use:\n- database "sales": pg://x',
    );
  });

  it('names the app language', () => {
    expect(languageInstruction('en')).toBe('Reply in English.');
    expect(languageInstruction('zh')).toBe('Reply in Chinese.');
    expect(languageInstruction('fr')).toBe('Reply in fr.');
    expect(languageInstruction('')).toBe('Reply in English.');
  });

  it('puts the base prompt, extra sections, resources and language in that order', () => {
    const prompt = systemPrompt('Base.', [{ type: 'text', name: 'n', value: 'v' }], 'en', ['Extra.']);
    expect(prompt).toBe('Base.\n\nExtra.\n\nResources you can use:\n- text "n": v\n\nReply in English.');
  });

  it("uses a detail's non-blank prompt template instead of the role's prompt", () => {
    expect(basePrompt('Role prompt', 'Custom')).toBe('Custom');
    expect(basePrompt('Role prompt', '  ')).toBe('Role prompt');
    expect(basePrompt('Role prompt', null)).toBe('Role prompt');
  });

  it('sends the history as prior turns, leaving empty texts out', () => {
    const history = [
      { user: 'q1', assistant: 'a1' },
      { user: 'q2', assistant: '' },
    ];
    expect(chatMessages('sys', history, 'now')).toEqual([
      { role: 'system', content: 'sys' },
      { role: 'user', content: 'q1' },
      { role: 'assistant', content: 'a1' },
      { role: 'user', content: 'q2' },
      { role: 'user', content: 'now' },
    ]);
  });
});
