/*
 * spi_helpers.cpp — shared SPI conveniences (see the header).
 */
#include "spi_helpers.h"

extern "C" {
#include "utils/builtins.h"
#include "utils/lsyscache.h"
}

namespace eventstore::pg {

ArrayType *array_of(Datum *values, bool *nulls, int count, Oid element_type)
{
    int16 length;
    bool by_value;
    char alignment;
    get_typlenbyvalalign(element_type, &length, &by_value, &alignment);
    int dims[1] = {count};
    int lower_bounds[1] = {1};
    return construct_md_array(values, nulls, 1, dims, lower_bounds, element_type, length, by_value, alignment);
}

}  // namespace eventstore::pg
