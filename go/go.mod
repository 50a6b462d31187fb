module example.invalid/ctask/go

go 1.19
