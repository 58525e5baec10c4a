#!/usr/bin/env node
// The `tierscope` command: runs cli.ts through tsx's loader, so the TypeScript sources are the program.
import { register } from 'tsx/esm/api'

register()
await import('../cli.ts')
