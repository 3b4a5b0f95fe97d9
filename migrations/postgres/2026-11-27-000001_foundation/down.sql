DROP TABLE contracts;
DROP TABLE attribute_values;
DROP TABLE attribute_definitions;
DROP TABLE events;
DROP TABLE counters;
