module ctask

go 1.19
