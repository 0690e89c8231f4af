#!/usr/bin/env node
/**
 * Writes a small sales database for a first try of datasources and chat_data:
 * a SQLite file `sample_sales.db` in the datasource files folder
 * (DATASOURCE_FILES_DIR, else <DATA_DIR>/datasources, else .data/datasources).
 * The data is generated deterministically: 3 regions, 8 customers, 6
 * products, 400 orders over 2024.
 *
 *   node scripts/sample-sales.js [file]
 */
const Database = require('better-sqlite3');
const { mkdirSync, rmSync } = require('node:fs');
const { join, resolve } = require('node:path');

const dir = resolve(process.env.DATASOURCE_FILES_DIR || join(process.env.DATA_DIR || '.data', 'datasources'));
const file = join(dir, process.argv[2] || 'sample_sales.db');
mkdirSync(dir, { recursive: true });
rmSync(file, { force: true });

let seed = 20240101;
const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
const pick = (list) => list[Math.floor(random() * list.length)];

const db = new Database(file);
db.exec(`
  CREATE TABLE customers (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    region TEXT NOT NULL -- EU, US or APAC
  );
  CREATE TABLE products (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    category TEXT NOT NULL,
    price REAL NOT NULL
  );
  CREATE TABLE orders (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    product_id INTEGER NOT NULL REFERENCES products(id),
    quantity INTEGER NOT NULL,
    amount REAL NOT NULL,
    ordered_at TEXT NOT NULL -- ISO 8601 date
  );
`);
const customers = [
  ['Ada Works', 'EU'],
  ['Bergen Supply', 'EU'],
  ['Coral Foods', 'APAC'],
  ['Delta Retail', 'US'],
  ['Elm & Co', 'US'],
  ['Fuji Trading', 'APAC'],
  ['Garnet Ltd', 'EU'],
  ['Harbor Goods', 'US'],
];
const products = [
  ['Espresso beans', 'coffee', 14.5],
  ['Filter coffee', 'coffee', 9.9],
  ['Green tea', 'tea', 7.25],
  ['Chai blend', 'tea', 8.4],
  ['Ceramic mug', 'gear', 12],
  ['Pour-over kit', 'gear', 34.9],
];
const insertCustomer = db.prepare('INSERT INTO customers (id, name, region) VALUES (?, ?, ?)');
const insertProduct = db.prepare('INSERT INTO products (id, name, category, price) VALUES (?, ?, ?, ?)');
const insertOrder = db.prepare(
  'INSERT INTO orders (id, customer_id, product_id, quantity, amount, ordered_at) VALUES (?, ?, ?, ?, ?, ?)',
);
db.transaction(() => {
  customers.forEach(([name, region], i) => insertCustomer.run(i + 1, name, region));
  products.forEach(([name, category, price], i) => insertProduct.run(i + 1, name, category, price));
  for (let id = 1; id <= 400; id++) {
    const product = Math.floor(random() * products.length);
    const quantity = 1 + Math.floor(random() * 5);
    const month = 1 + Math.floor(random() * 12);
    const day = 1 + Math.floor(random() * 28);
    const date = `2024-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
    const amount = Math.round(quantity * products[product][2] * 100) / 100;
    insertOrder.run(id, 1 + customers.indexOf(pick(customers)), product + 1, quantity, amount, date);
  }
})();
db.close();
console.log(`Wrote ${file}`);
