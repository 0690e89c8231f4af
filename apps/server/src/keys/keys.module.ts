import { Global, Module } from '@nestjs/common';
import { AppCodesGuard } from './app-codes.guard';
import { KeysController } from './keys.controller';
import { KeysRepository } from './keys.repository';
import { KeysService } from './keys.service';

/** Keys as data. Global: the API-key guard of every route resolves callers through `KeysService`. */
@Global()
@Module({
  controllers: [KeysController],
  providers: [KeysRepository, KeysService, AppCodesGuard],
  exports: [KeysService, AppCodesGuard],
})
export class KeysModule {}
