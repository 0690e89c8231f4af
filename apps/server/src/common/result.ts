/** DB-GPT's `Result` envelope; its keys are sent in this order. */
export interface Result<T> {
  success: boolean;
  err_code: string | null;
  err_msg: string | null;
  data: T;
}

export function ok<T>(data: T): Result<T> {
  return { success: true, err_code: null, err_msg: null, data };
}
