import { Module } from '@nestjs/common';
import { DocumentUploadInterceptor } from './document-upload.interceptor';
import { KnowledgeController } from './knowledge.controller';
import { KnowledgeRepository } from './knowledge.repository';
import { KnowledgeService } from './knowledge.service';

/** Knowledge spaces, documents, chunking and retrieval. Exports only its service. */
@Module({
  controllers: [KnowledgeController],
  providers: [KnowledgeService, KnowledgeRepository, DocumentUploadInterceptor],
  exports: [KnowledgeService],
})
export class KnowledgeModule {}
