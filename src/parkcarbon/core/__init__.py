"""Pure domain core: formulas, entities and frozen results with traces. No I/O."""
