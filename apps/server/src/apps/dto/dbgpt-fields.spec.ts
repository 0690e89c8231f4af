import 'reflect-metadata';
import type { ArgumentMetadata } from '@nestjs/common';
import { ApiError } from '../../common/api-error';
import { createValidationPipe } from '../../common/validation';
import { CreateAppDto, UpdateAppDto } from './app.dto';
import { exportedApp, exportedDetail, exportedResource } from '../../../../../test/support/dbgpt-export';
import { DBGPT_APP_DETAIL_FIELDS, DBGPT_APP_FIELDS, DBGPT_RESOURCE_FIELDS } from './dbgpt-fields';

const resource = exportedResource;
const detail = exportedDetail;
const app = exportedApp;

const body: ArgumentMetadata = { type: 'body', metatype: CreateAppDto };
const validate = (value: unknown, metadata = body) => createValidationPipe().transform(value, metadata);

describe("DB-GPT's app models", () => {
  it('the sample bodies hold exactly the fields of the lists', () => {
    expect(Object.keys(app).sort()).toEqual([...DBGPT_APP_FIELDS].sort());
    expect(Object.keys(detail).sort()).toEqual([...DBGPT_APP_DETAIL_FIELDS].sort());
    expect(Object.keys(resource).sort()).toEqual([...DBGPT_RESOURCE_FIELDS].sort());
  });

  it('a body with every field of GptsApp, GptsAppDetail and AgentResource is accepted, for create and update', async () => {
    await expect(validate(app)).resolves.toBeInstanceOf(CreateAppDto);
    await expect(validate(app, { type: 'body', metatype: UpdateAppDto })).resolves.toBeInstanceOf(UpdateAppDto);
    // GptsApp turns a boolean is_collected into its string
    await expect(validate({ ...app, is_collected: true })).resolves.toMatchObject({ is_collected: 'true' });
  });

  it('a field outside those models is refused, named', async () => {
    for (const [value, path] of [
      [{ ...app, bogus: 1 }, 'bogus'],
      [{ ...app, details: [{ ...detail, bogus: 1 }] }, 'details[0].bogus'],
      [{ ...app, details: [{ ...detail, resources: [{ ...resource, bogus: 1 }] }] }, 'details[0].resources[0].bogus'],
    ] as const) {
      const error = await validate(value).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ApiError);
      expect((error as ApiError).param).toBe(path);
      expect((error as ApiError).message).toContain(`property ${path} should not exist`);
    }
  });
});
