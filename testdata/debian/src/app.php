<?php echo "php app started ", PHP_VERSION, "\n";
