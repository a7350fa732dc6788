import { makeS3Driver } from '../../src/storage/s3/s3.driver.js';
import { useRgwBucket } from '../helpers/rgw.js';
import { describeStorageDriver } from '../suites/storage-driver.suite.js';

const MiB = 1024 * 1024;

// 6 MiB parts: the suite's 13 MiB writes span three parts, none aligned with 5 MiB
describeStorageDriver('s3 (Ceph radosgw)', async () => {
  const rgw = await useRgwBucket();
  const driver = await makeS3Driver(rgw.s3Config({ partSizeBytes: 6 * MiB, prefix: 'berth/' }));
  return {
    driver,
    async cleanup() {
      await driver.close();
      await rgw.release();
    },
  };
});
