module labkitreal

go 1.19
