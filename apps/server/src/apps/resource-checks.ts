import { Injectable } from '@nestjs/common';
import { DatasourcesService } from '../datasources/datasources.service';
import { KnowledgeService } from '../knowledge/knowledge.service';
import { ToolsService } from '../tools/tools.service';
import type { AppDetailDto } from './dto/app.dto';

/**
 * The one place an app's resources are checked against what exists: each
 * kind of resource (tool servers, knowledge spaces, datasources) is checked
 * by the module that owns it, and a resource naming something that does not
 * exist is a 400 naming `details[i].resources[j]`.
 */
@Injectable()
export class AppResourceChecks {
  constructor(
    private readonly tools: ToolsService,
    private readonly knowledge: KnowledgeService,
    private readonly datasources: DatasourcesService,
  ) {}

  async check(details: readonly AppDetailDto[] | undefined): Promise<void> {
    await this.tools.validateDetails(details);
    await this.knowledge.checkAppResources(details);
    await this.datasources.checkResources(details);
  }
}
