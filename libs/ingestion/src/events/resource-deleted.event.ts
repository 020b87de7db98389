/** A source deleted the resource; it then reads 410 with its history intact. Metadata: ResourceVersionLineage. */
export const RESOURCE_DELETED = 'ResourceDeleted';

export interface ResourceDeletedData {
  resourceType: string;
  id: string;
}
