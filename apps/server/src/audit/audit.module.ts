import { Global, Module } from '@nestjs/common';
import { AuditController } from './audit.controller';
import { AuditInterceptor } from './audit.interceptor';
import { AuditRepository } from './audit.repository';

/**
 * The audit log of admin changes: written by `AuditInterceptor` on the admin
 * controllers (`@UseInterceptors(AuditInterceptor)`), read by admins. Global,
 * so any controller can carry the interceptor.
 */
@Global()
@Module({
  controllers: [AuditController],
  providers: [AuditRepository, AuditInterceptor],
  exports: [AuditRepository, AuditInterceptor],
})
export class AuditModule {}
