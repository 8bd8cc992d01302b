import { describe, expect, it } from 'vitest';
import { cleanEntryName, entryProblem, renameTop } from './entry-policy.js';

describe('entryProblem', () => {
  it('accepts files, directories and links that stay inside the tree', () => {
    expect(entryProblem({ name: 'src/a.txt', type: 'file' })).toBeUndefined();
    expect(entryProblem({ name: 'src/', type: 'directory' })).toBeUndefined();
    expect(entryProblem({ name: './src/x', type: 'file' })).toBeUndefined();
    expect(entryProblem({ name: 'src/lib/link', type: 'symlink', linkname: '../a.txt' })).toBeUndefined();
    expect(entryProblem({ name: 'src/hard', type: 'link', linkname: 'src/a.txt' })).toBeUndefined();
  });

  it('refuses absolute names, .. and NUL', () => {
    expect(entryProblem({ name: '/etc/passwd', type: 'file' })).toBe('entry "/etc/passwd" has an absolute path');
    expect(entryProblem({ name: '../x', type: 'file' })).toBe('entry "../x" contains ".." (it would leave the target directory)');
    expect(entryProblem({ name: 'a/../../x', type: 'file' })).toMatch(/contains "\.\."/);
    expect(entryProblem({ name: 'a\\..\\x', type: 'file' })).toMatch(/contains "\.\."/);
    expect(entryProblem({ name: 'a\0b', type: 'file' })).toMatch(/NUL/);
    expect(entryProblem({ name: 'C:\\x', type: 'file' })).toMatch(/absolute/);
  });

  it('refuses links that leave the tree, absolute or relative', () => {
    expect(entryProblem({ name: 'src/link', type: 'symlink', linkname: '/etc' })).toBe('entry "src/link" links to the absolute path "/etc", outside the copied tree');
    expect(entryProblem({ name: 'src/link', type: 'symlink', linkname: '../../etc' })).toBe('entry "src/link" links to "../../etc", outside the copied tree');
    expect(entryProblem({ name: 'link', type: 'symlink', linkname: '..' })).toMatch(/outside the copied tree/);
    expect(entryProblem({ name: 'hard', type: 'link', linkname: '../x' })).toMatch(/outside the copied tree/);
    expect(entryProblem({ name: 'link', type: 'symlink', linkname: '' })).toMatch(/without a target/);
  });

  it('refuses devices and FIFOs', () => {
    expect(entryProblem({ name: 'dev/sda', type: 'block-device' })).toBe('entry "dev/sda" is a block-device; only files, directories and links are copied');
    expect(entryProblem({ name: 'p', type: 'fifo' })).toMatch(/fifo/);
    expect(entryProblem({ name: 'c', type: 'character-device' })).toMatch(/character-device/);
  });
});

describe('names', () => {
  it('cleans and renames the top element', () => {
    expect(cleanEntryName('./src//a/')).toEqual({ ok: true, path: 'src/a' });
    expect(cleanEntryName('./')).toEqual({ ok: true, path: '.' });
    expect(renameTop('src/a/b', 'dst')).toBe('dst/a/b');
    expect(renameTop('src', 'dst')).toBe('dst');
  });
});
