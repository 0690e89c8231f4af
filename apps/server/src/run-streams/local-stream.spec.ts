import { DONE_FRAME } from '../chat/chunks';
import { framesAfter, isDone, LocalStream, numbered, splitFrames } from './local-stream';

const frame = (text: string) => `data: {"choices":[{"delta":{"content":${JSON.stringify(text)}}}]}\n\n`;

describe('local-stream helpers', () => {
  it('splits concatenated frames, a payload with escaped blank lines included', () => {
    const frames = [frame('a\n\nb'), frame('c'), DONE_FRAME];
    expect(splitFrames(frames.join(''))).toEqual(frames);
    expect(splitFrames('')).toEqual([]);
  });

  it('cuts a stored batch after a frame number, at frame boundaries only', () => {
    const batch = [numbered(5, frame('id: 7\n')), numbered(6, frame('x')), numbered(7, DONE_FRAME)].join('');
    expect(framesAfter(batch, 5, 4)).toBe(batch);
    expect(framesAfter(batch, 5, 3)).toBe(batch);
    // "id: 7\n" inside the first frame's content is escaped JSON, so only the real frame 7 matches.
    expect(framesAfter(batch, 5, 6)).toBe(numbered(7, DONE_FRAME));
    expect(framesAfter(batch, 5, 5)).toBe(numbered(6, frame('x')) + numbered(7, DONE_FRAME));
    expect(framesAfter(batch, 5, 7)).toBe('');
    expect(isDone(numbered(7, DONE_FRAME))).toBe(true);
    expect(isDone(numbered(6, frame('x')))).toBe(false);
  });

  it('serves stored frames from memory, and says so when memory no longer holds the next one', () => {
    const stream = new LocalStream('run');
    expect(stream.after(0)).toBe('');
    const small = [numbered(1, frame('a')), numbered(2, frame('b'))];
    stream.commit(small.join(''), 2, false);
    expect(stream.after(0)).toBe(small.join(''));
    expect(stream.after(1)).toBe(small[1]);
    expect(stream.after(2)).toBe('');
    // Past 256 KiB the oldest frames leave memory: a follower behind them reads the store.
    const big = numbered(3, frame('x'.repeat(300 * 1024)));
    stream.commit(big, 1, false);
    expect(stream.after(1)).toBeUndefined();
    expect(stream.after(2) === big).toBe(true);
    stream.commit(numbered(4, DONE_FRAME), 1, true);
    expect(stream.ended).toBe(true);
    expect(stream.after(0)).toBeUndefined();
    expect(stream.after(3)).toBe(numbered(4, DONE_FRAME));
  });
});
