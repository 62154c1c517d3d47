// The helpers are static inline functions in include/CRecurSIMD.h; this file gives the target a source.
#include "CRecurSIMD.h"
