import { App } from 'cdktf';
import { ResourceKind } from '../lib';
import { ClusterStack } from './cluster-stack';
import { checkBackend } from './backend';
import { CONFIG_CONTEXT, LvsConfig, configPath, loadConfigFile, mergeCluster } from './config';
import { ConfigError } from './schema';
import { DEFAULT_TOPOLOGIES, STACK_MODES } from './topologies';

export { ClusterStack } from './cluster-stack';
export * from './backend';
export * from './config';
export { ConfigError } from './schema';
export * from './topologies';

/** Defines nat-stack, dr-stack and tun-stack on `app` from the selected config file (if any). */
export function defineStacks(app: App, config?: LvsConfig): ClusterStack[] {
  const file = configPath(app.node.tryGetContext(CONFIG_CONTEXT));
  const cfg = config ?? (file ? loadConfigFile(file) : {});
  for (const name of Object.keys(cfg.stacks ?? {})) {
    if (!(name in STACK_MODES)) {
      throw new ConfigError(file ?? 'config', `stacks.${name}`, `unknown stack (expected ${Object.keys(STACK_MODES).join(', ')})`);
    }
  }
  // Also for a config given in code: a wrong backend must fail before anything is deployed with it.
  if (cfg.backend !== undefined) checkBackend(file ?? 'config', 'backend', cfg.backend);
  return Object.entries(STACK_MODES).map(
    ([name, mode]) =>
      new ClusterStack(app, name, {
        mode,
        cluster: mergeCluster(DEFAULT_TOPOLOGIES[mode], cfg, name),
        resourceKind: cfg.resourceKind as ResourceKind | undefined,
        backend: cfg.backend,
      }),
  );
}
