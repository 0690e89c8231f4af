import { CallHandler, ExecutionContext, HttpStatus, Inject, Injectable, NestInterceptor } from '@nestjs/common';
import type { Request, Response } from 'express';
import multer, { MulterError } from 'multer';
import type { Observable } from 'rxjs';
import { ApiError } from '../common/api-error';
import { APP_CONFIG, type AppConfig } from '../config/config';

/**
 * Reads a multipart `POST /documents` (one file, `doc_file`, kept in memory
 * up to KNOWLEDGE_MAX_FILE_SIZE, plus text fields) into `req.file` and
 * `req.body`; other bodies pass through. Failures are API errors naming the
 * field: 413 for a file over the limit, 400 for anything else.
 */
@Injectable()
export class DocumentUploadInterceptor implements NestInterceptor {
  private readonly upload: ReturnType<ReturnType<typeof multer>['single']>;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    this.upload = multer({
      storage: multer.memoryStorage(),
      limits: { fileSize: config.knowledgeMaxFileBytes, files: 1, fields: 20, fieldSize: config.knowledgeMaxFileBytes },
    }).single('doc_file');
  }

  async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    const http = context.switchToHttp();
    const req = http.getRequest<Request>();
    const res = http.getResponse<Response>();
    if (req.is('multipart/form-data')) {
      await new Promise<void>((resolve, reject) =>
        this.upload(req, res, (err: unknown) => (err ? reject(this.describe(err)) : resolve())),
      );
    }
    return next.handle();
  }

  private describe(err: unknown): ApiError {
    if (!(err instanceof MulterError)) {
      return ApiError.badRequest('validation_error', 'The multipart body could not be read.', null);
    }
    if (err.code === 'LIMIT_FILE_SIZE' || err.code === 'LIMIT_FIELD_VALUE') {
      return new ApiError(
        HttpStatus.PAYLOAD_TOO_LARGE,
        'payload_too_large',
        `${err.field ?? 'doc_file'} is larger than the limit of ${this.config.knowledgeMaxFileBytes} bytes (KNOWLEDGE_MAX_FILE_SIZE).`,
        err.field ?? 'doc_file',
      );
    }
    if (err.code === 'LIMIT_UNEXPECTED_FILE') {
      return ApiError.badRequest(
        'validation_error',
        `Only one file, in the field doc_file, is accepted.`,
        err.field ?? null,
      );
    }
    return ApiError.badRequest(
      'validation_error',
      `The multipart body was refused: ${err.message}.`,
      err.field ?? null,
    );
  }
}
