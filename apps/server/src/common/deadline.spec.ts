import { valueWithin, withDeadline } from './deadline';

describe('withDeadline', () => {
  const late = () => new Error('late');

  it('settles as the promise does when it is in time', async () => {
    await expect(withDeadline(Promise.resolve(7), 1000, late)).resolves.toBe(7);
    const boom = new Error('boom');
    await expect(withDeadline(Promise.reject(boom), 1000, late)).rejects.toBe(boom);
  });

  it("rejects with late()'s error when the promise has not settled in time", async () => {
    jest.useFakeTimers();
    try {
      const pending = withDeadline(new Promise<never>(() => undefined), 50, late);
      jest.advanceTimersByTime(50);
      await expect(pending).rejects.toThrow('late');
    } finally {
      jest.useRealTimers();
    }
  });
});

describe('valueWithin', () => {
  it('settles as the promise does when it is in time', async () => {
    await expect(valueWithin(Promise.resolve(7), 1000)).resolves.toBe(7);
    const boom = new Error('boom');
    await expect(valueWithin(Promise.reject(boom), 1000)).rejects.toBe(boom);
  });

  it('resolves undefined when the promise has not settled in time', async () => {
    jest.useFakeTimers();
    try {
      const pending = valueWithin(new Promise<never>(() => undefined), 50);
      jest.advanceTimersByTime(50);
      await expect(pending).resolves.toBeUndefined();
    } finally {
      jest.useRealTimers();
    }
  });
});
