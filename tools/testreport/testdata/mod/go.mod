module example.com/testreportfixture

go 1.26
