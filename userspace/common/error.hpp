// One error style for the whole project: exceptions at stage boundaries, derived from
// stockade::Error, whose what() is a complete sentence an operator can act on.
#pragma once

#include <stdexcept>
#include <string>

namespace stockade {

class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// An error with a location in an input file (boundary, config, journal line).
class LocatedError : public Error {
public:
    LocatedError(std::string file, int line, int column, const std::string& message)
        : Error(file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message),
          file_(std::move(file)), line_(line), column_(column) {}
    const std::string& file() const { return file_; }
    int line() const { return line_; }
    int column() const { return column_; }

private:
    std::string file_;
    int line_, column_;
};

}  // namespace stockade
