import { readFile } from 'node:fs/promises';

/** Read an emulator's JSON seed file; a missing or malformed file is reported with its name. */
export async function readSeed<T>(file: string): Promise<T> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new Error(`seed file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new Error(`seed file ${file} is not valid JSON: ${(err as Error).message}`);
  }
}
