/**
 * Tests and hooks of the e2e suite work on real databases and processes:
 * creating or dropping a database (`DROP DATABASE … WITH (FORCE)`) and closing
 * a server can take seconds on a loaded machine, well past Jest's 5 s default.
 */
jest.setTimeout(30_000);
