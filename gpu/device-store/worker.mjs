// Worker bootstrap for gpu/device-store: registers tsx so the TypeScript worker body can be imported,
// whether the parent runs under tsx, vitest or a compiled bundle.
import { register } from 'tsx/esm/api';

register();
await import('./worker-body.ts');
