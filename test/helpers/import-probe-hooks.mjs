// Module hooks (node:module register) for the child process in lazy-load.test.ts. They let plain Node run
// src/**/*.ts (transpiled on the fly by the project's own TypeScript, no dist/ needed) and record the URL of
// every module Node actually loads. `import('probe:loaded?<n>')` answers with that list so far.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const loaded = [];

export async function resolve(specifier, context, next) {
  if (specifier.startsWith('probe:loaded')) {
    // A distinct data: URL per question (the specifier is in it), so no answer comes from the module cache.
    const source = `export default ${JSON.stringify(loaded)}; // ${specifier}`;
    return { shortCircuit: true, url: `data:text/javascript,${encodeURIComponent(source)}` };
  }
  try {
    return await next(specifier, context);
  } catch (err) {
    // NodeNext sources import './x.js' for the file ./x.ts.
    if (context.parentURL?.endsWith('.ts') && specifier.startsWith('.') && specifier.endsWith('.js')) {
      return next(`${specifier.slice(0, -'.js'.length)}.ts`, context);
    }
    throw err;
  }
}

export async function load(url, context, next) {
  if (!url.startsWith('data:')) loaded.push(url);
  if (url.startsWith('file:') && url.endsWith('.ts')) {
    const path = fileURLToPath(url);
    const { outputText } = ts.transpileModule(await readFile(path, 'utf8'), {
      fileName: path,
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true, sourceMap: false },
    });
    return { shortCircuit: true, format: 'module', source: outputText };
  }
  return next(url, context);
}
