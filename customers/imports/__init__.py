"""Bulk imports of customers, orders, invoices and payments from CSV or XLSX files.

- `readers`: the file as chunks of strings, each row with its line number;
- `validation`: pure checks over those chunks, returning clean rows and errors;
- `lookups`: the database facts the checks need (which references exist);
- `writers`: set-wise writes through a staging table (COPY on PostgreSQL);
- `services`: `import_customers`, `import_orders`, `import_invoices`,
  `import_payments`: check the whole file first, then write it in one transaction.
"""
