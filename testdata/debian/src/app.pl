print "perl app started\n";
