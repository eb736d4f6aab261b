// The policy stage in one include: boundaries, loading/checking them, and decide().
#pragma once

#include "policy/boundary.hpp"
#include "policy/decide.hpp"
#include "policy/diagnostic.hpp"
#include "policy/load.hpp"
