/**
 * The dual error shape (the error contract (README, Errors)), asserted whole: Result fields and OpenAI's
 * `error`, with the same sentence and exactly `param` (`null` when no field is at fault).
 */
export function expectDualError(
  res: { status: number; body: unknown },
  status: number,
  code: string,
  param: string | null,
): void {
  const body = (typeof res.body === 'string' ? JSON.parse(res.body) : res.body) as {
    err_msg: string;
  };
  expect(res.status).toBe(status);
  expect(body).toEqual({
    success: false,
    err_code: code,
    err_msg: expect.any(String),
    data: null,
    error: {
      message: body.err_msg,
      type: expect.any(String),
      param,
      code,
    },
  });
}
