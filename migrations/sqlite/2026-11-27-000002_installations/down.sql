DROP TABLE coverages;
DROP TABLE installations;
