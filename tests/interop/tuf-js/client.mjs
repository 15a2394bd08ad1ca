// SPDX-License-Identifier: Apache-2.0
// tuf-js as a TUF client of a tender-publish repository.
// Usage: node client.mjs METADATA_DIR METADATA_URL TARGETS_URL TARGET_DIR TARGET_NAME...
// METADATA_DIR holds the trusted root.json. Prints one line of custom fields per target.
import path from 'node:path';
import { Updater } from 'tuf-js';

const [metadataDir, metadataBaseUrl, targetBaseUrl, targetDir, ...names] = process.argv.slice(2);
try {
  const updater = new Updater({ metadataDir, metadataBaseUrl, targetBaseUrl, targetDir });
  await updater.refresh();
  for (const name of names) {
    const info = await updater.getTargetInfo(name);
    if (!info) throw new Error(`no target ${name}`);
    const file = path.join(targetDir, encodeURIComponent(name));
    await updater.downloadTarget(info, file);
    console.log(JSON.stringify({ name, length: info.length, custom: info.custom }));
  }
} catch (e) {
  console.error(`tuf-js: ${e.constructor.name}: ${e.message}`);
  process.exit(1);
}
